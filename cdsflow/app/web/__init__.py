"""The web app: server-rendered pages and a JSON API over the same service layer as the CLI."""
