from ta_session.cli.main import main

raise SystemExit(main())
