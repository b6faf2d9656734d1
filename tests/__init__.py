"""DropDesk test suites: api (service), bot (bot runtime), e2e (whole stack)."""
