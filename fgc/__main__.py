import sys

from fgc.cli.main import main

sys.exit(main())
