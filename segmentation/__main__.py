"""``python -m segmentation``: see segmentation.cli."""

from segmentation.cli import main

raise SystemExit(main())
