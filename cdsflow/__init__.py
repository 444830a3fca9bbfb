"""cdsflow: đánh giá mức độ chuyển đổi số trong giáo dục."""

# The one version string: pyproject reads it (dynamic), the web app and `cdsflow --version` print it.
__version__ = "0.1.0"
