from cdsflow.app.cli import main

main()
