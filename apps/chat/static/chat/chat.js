/* The chat page's script (a static file: the CSP refuses inline scripts).
   - Enter sends, Shift+Enter makes a new line.
   - The answer streams in: POST the prompt (session cookie + CSRF token), read the text/event-stream with
     fetch + ReadableStream, show each delta with textContent (never innerHTML of model text), then swap in the
     message as the server rendered it (Markdown, sanitized) once the answer is stored.
   - Stop asks the server to cancel the answer; it is kept as incomplete. */
(function () {
  "use strict";

  function enterSends(textarea) {
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (textarea.value.trim() && textarea.form) textarea.form.requestSubmit();
      }
    });
  }

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Server-Sent Events over a fetch body: blocks separated by a blank line, "event:" and "data:" lines.
  async function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      var end;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        var block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        var name = "message";
        var data = "";
        block.split("\n").forEach(function (line) {
          if (line.indexOf("event:") === 0) name = line.slice(6).trim();
          else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
        });
        if (data) onEvent(name, JSON.parse(data));
      }
    }
  }

  function setupConversation(form) {
    var pane = document.getElementById("messages");
    var textarea = form.querySelector("textarea");
    var send = document.getElementById("send");
    var stop = document.getElementById("stop");
    var status = document.getElementById("composer-status");
    var cost = document.getElementById("conversation-cost");
    var agentName = form.dataset.agentName || "Agent";
    var running = null; // {messageId}

    function scrollDown() {
      pane.scrollTop = pane.scrollHeight;
      window.scrollTo(0, document.body.scrollHeight);
    }

    function busy(on) {
      send.disabled = on;
      textarea.readOnly = on;
      stop.hidden = !on;
      stop.disabled = false;
      if (on) stop.focus();
      else textarea.focus();
    }

    async function swapIn(article, messageId) {
      // The stored message as the server renders it: sanitized Markdown, sources, feedback, cost.
      var url = form.dataset.messageUrl.replace("MESSAGE_ID", encodeURIComponent(messageId));
      var response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
      if (!response.ok) return false;
      var html = await response.text();
      var holder = document.createElement("template");
      holder.innerHTML = html; // server-rendered and sanitized (apps/chat/markdown.py), not model text
      var fresh = holder.content.firstElementChild;
      if (fresh) {
        article.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
      }
      var total = response.headers.get("X-Conversation-Cost");
      if (total && cost) cost.textContent = total;
      return true;
    }

    async function ask(text) {
      var mine = element("article", "msg msg-user");
      mine.setAttribute("aria-label", "You");
      mine.appendChild(element("div", "msg-body msg-plain", text));
      pane.appendChild(mine);
      var answer = element("article", "msg msg-ai msg-in_progress msg-streaming");
      answer.setAttribute("aria-label", agentName);
      answer.appendChild(element("div", "msg-author", agentName));
      var body = element("div", "msg-body msg-plain", "");
      answer.appendChild(body);
      var note = element("p", "msg-note", "Thinking…");
      answer.appendChild(note);
      pane.appendChild(answer);
      scrollDown();
      busy(true);
      status.textContent = agentName + " is answering…";
      var messageId = null;
      var failure = null;
      try {
        var data = new FormData();
        data.append("text", text);
        var response = await fetch(form.dataset.askUrl, {
          method: "POST",
          body: data,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(form), Accept: "text/event-stream" },
        });
        if (!response.ok || !response.body) {
          var problem = {};
          try {
            problem = await response.json();
          } catch (ignored) {
            /* not JSON */
          }
          throw new Error(problem.message || "The answer could not be started (" + response.status + ").");
        }
        await readEvents(response, function (name, event) {
          if (name === "started") {
            messageId = event.message_id;
            running = { messageId: messageId };
            answer.id = "m-" + messageId;
            note.textContent = "";
          } else if (name === "delta") {
            body.textContent += event.text; // text only: the model's output is never parsed as HTML here
            scrollDown();
          } else if (name === "failed") {
            // Only an answer that started was stored: a refused prompt (blocked, rate limited) has no message.
            failure = event.message || "The agent could not answer.";
          }
        });
      } catch (error) {
        failure = failure || error.message || "The connection was lost.";
      }
      running = null;
      busy(false);
      status.textContent = "";
      if (!messageId || !(await swapIn(answer, messageId))) {
        note.textContent = failure || "No answer.";
        note.classList.add("msg-error");
        note.setAttribute("role", "alert");
      }
      if (failure) status.textContent = failure;
      scrollDown();
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = textarea.value.trim();
      if (!text || running || send.disabled) return;
      textarea.value = "";
      ask(text);
    });

    stop.addEventListener("click", async function () {
      if (!running || !running.messageId) return;
      stop.disabled = true;
      status.textContent = "Stopping…";
      var data = new FormData();
      data.append("message", running.messageId);
      await fetch(form.dataset.stopUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(form) },
      });
    });

    scrollDown();
    if (form.dataset.pending) ask(form.dataset.pending);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-enter-sends]").forEach(enterSends);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        select.form.submit();
      });
    });
    var form = document.getElementById("ask-form");
    if (form) setupConversation(form);
  });
})();
