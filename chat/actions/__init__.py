"""The one write path: every change of state goes through a ``check_*`` (validate) or ``do_*`` (write) here."""
