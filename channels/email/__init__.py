"""The email channel: inbound SMTP (aiosmtpd), parsing in workers, outbound through a relay."""
