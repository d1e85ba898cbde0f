"""The Slack channel: the Events API over HTTP (signatures checked by slack_sdk's verifier)
and slack_sdk's Web API client."""

from channels.base import Capabilities

# Text and files in the thread. Block Kit buttons only under the rating question (the bot's
# own buttons are still degraded to numbered options); images are not sent yet.
CAPABILITIES = Capabilities(attachments=True)
