// The server's sanitised HTML (markdown-it-py then nh3: server/services/kb_markdown.py) shown
// as Preact elements, never through innerHTML: DOMParser reads it into an inert document
// (scripts in it never run), and only the tags and attributes Markdown makes are copied over,
// as elements and text nodes. A second gate behind the server's: should anything slip through
// the server, it is dropped here, not run.
import { h } from "../panel/ui.js";

const TAGS = new Set([
  "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "a", "strong", "em", "b", "i",
  "code", "pre", "blockquote", "table", "thead", "tbody", "tr", "th", "td", "del", "s", "hr",
  "br", "sup", "sub",
]);
const SAFE_LINK = /^(https?:|mailto:)/i;

function convert(node, key) {
  if (node.nodeType === Node.TEXT_NODE) return node.nodeValue;
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const tag = node.tagName.toLowerCase();
  const children = Array.from(node.childNodes, (child, i) => convert(child, i));
  if (tag === "img") {
    // The console's policy loads images from itself only: an article's picture is its text.
    const alt = node.getAttribute("alt");
    return h("span", { key, class: "kb-image" }, `[image${alt ? `: ${alt}` : ""}]`);
  }
  if (!TAGS.has(tag)) return h("span", { key }, children);
  const props = { key };
  if (tag === "a") {
    const href = node.getAttribute("href") || "";
    if (SAFE_LINK.test(href)) {
      props.href = href;
      props.rel = "noopener noreferrer nofollow";
      props.target = "_blank";
    }
  }
  if ((tag === "th" || tag === "td") && /^(left|right|center)$/.test(node.getAttribute("align") || "")) {
    props.class = `kb-align-${node.getAttribute("align")}`;
  }
  return h(tag, props, children);
}

export function sanitisedNodes(html) {
  const doc = new DOMParser().parseFromString(`<!doctype html><body>${html}</body>`, "text/html");
  return Array.from(doc.body.childNodes, (node, i) => convert(node, i));
}
