"""`mlplat verify`: read a deployed stack back with read-only AWS calls, turn what AWS
returns into plan records and run the same rules on them, so a live account, `mlplat audit`
and CrossGuard cannot disagree about what a rule means; report drift from the plan."""
