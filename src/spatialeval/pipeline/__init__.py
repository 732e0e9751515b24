"""The evaluate pipeline: pairs → decoded audio → metric stages → per-item rows and a summary."""
