"""``python -m segmentation.report``: write the HTML segment report."""

from segmentation.report import main

raise SystemExit(main())
