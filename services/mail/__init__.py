"""E-mail in: reading messages (`parse`) and fetching them from IMAP mailboxes (`fetch`).
What a message makes (a request, a comment) is the write layer's: `services.actions.mail`."""
