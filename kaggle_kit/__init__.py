from kaggle_kit import mplconfig

mplconfig.ensure_writable_folder()  # before any module of the toolkit imports matplotlib
