// "Bot got this wrong" (issue 19): one control under a customer message the bot interpreted,
// in the transcript. It opens a small form (what the customer meant, if the agent knows, and
// a note) and sends the flag; the message then arrives in the trainers' review inbox
// (bot/review.js). POST /console/api/messages/{id}/bot-flag.
import { api } from "../panel/api.js";
import { Component, html } from "../panel/ui.js";

export class BotFlag extends Component {
  constructor() {
    super();
    this.state = { open: false, sent: false, error: "", busy: false };
  }

  async send(event) {
    event.preventDefault();
    const form = event.target;
    const intent = form.elements.intent.value.trim();
    const note = form.elements.note.value.trim();
    this.setState({ busy: true, error: "" });
    try {
      await api("POST", `/console/api/messages/${this.props.m.id}/bot-flag`, { intent: intent || null, note });
      this.setState({ open: false, sent: true, busy: false });
      this.button?.focus();
    } catch (e) {
      this.setState({ error: e.message, busy: false });
    }
  }

  render({ m }, { open, sent, error, busy }) {
    const id = `bot-flag-${m.id}`;
    return html`<div class="bot-flag">
      <button type="button" ref=${(el) => { this.button = el; }} aria-expanded=${String(open)} aria-controls=${id}
        onClick=${() => this.setState({ open: !open, error: "" })}>Bot got this wrong</button>
      ${sent && !open ? html` <span class="bot-flag-done" role="status">Flagged for the trainers</span>` : null}
      ${open ? html`<form id=${id} aria-label="Flag the bot's answer" onSubmit=${(e) => this.send(e)}>
        <label>What the customer meant (an intent, if you know)
          <input type="text" name="intent" maxlength="161" autocomplete="off" placeholder="e.g. refund_request" /></label>
        <label>Note <input type="text" name="note" maxlength="1000" autocomplete="off" /></label>
        ${error ? html`<span class="bot-error" role="alert">${error}</span>` : null}
        <div class="bot-flag-actions">
          <button type="submit" disabled=${busy}>Send flag</button>
          <button type="button" class="secondary" onClick=${() => this.setState({ open: false })}>Cancel</button>
        </div>
      </form>` : null}
    </div>`;
  }
}
