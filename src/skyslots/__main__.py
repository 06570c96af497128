from skyslots.cli import main

raise SystemExit(main())
