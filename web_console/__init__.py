"""The agent console: static web app, its WebSocket hub and routes, and its backend port."""
