"""Per channel, one incoming and one send service (email, Telegram, Slack), and the
backends that implement the web chat's and the console's ports.

May import: every layer below (kernel to ``delivery``) and ``channels``, ``nlu``,
``web_console`` ports."""
