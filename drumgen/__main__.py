from drumgen.cli import main

raise SystemExit(main())
