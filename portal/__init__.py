"""The debtor portal: signed links, the account statement, pay and respond."""
