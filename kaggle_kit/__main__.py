import sys

from kaggle_kit.cli import main

sys.exit(main())
