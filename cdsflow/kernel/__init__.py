"""The kernel: what every layer may import and what imports nothing of cdsflow.

Errors users are shown, the school stages, text cleaning, safe YAML reading and the data home.
"""
