"""The email channel: inbound SMTP (aiosmtpd), parsing in workers, outbound through a relay."""

from channels.base import Capabilities

# Mail carries text and files; no typing, buttons or images inline (degraded to text).
CAPABILITIES = Capabilities(attachments=True)
