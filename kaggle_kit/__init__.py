"""kaggle-kit: from Kaggle image-classification data to a validated, uploaded submission and a gap report.

Importing the package does nothing else: a command that draws nothing (``--help``, ``validate``) neither imports
matplotlib nor prepares a folder for it (``mplconfig``; the modules that draw call it before they import matplotlib).
"""
