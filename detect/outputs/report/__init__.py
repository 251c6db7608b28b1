"""The HTML report (DESIGN §12): one self-contained file an analyst opens, built from the alert
and incident documents of a scan or a stream (read.py reads them back from JSON lines, model.py
decides what is shown, matrix.py lays out the ATT&CK matrix, render.py writes the page)."""
