"""The Slack channel: slack-bolt (Events API over HTTP) and slack_sdk's Web API client."""
