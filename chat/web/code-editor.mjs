// The dashboard's code editor: every <textarea class="parley-code"> becomes a CodeMirror 6 editor with JavaScript /
// TypeScript highlighting, line numbers, undo history and bracket matching; the textarea keeps the text, so the
// form posts it as before. Bundled by esbuild into chat/static/chat/code-editor.js at set-up.
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { javascript } from "@codemirror/lang-javascript";
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { EditorState } from "@codemirror/state";
import { EditorView, drawSelection, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";

function upgrade(textarea) {
  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        highlightActiveLine(),
        syntaxHighlighting(defaultHighlightStyle),
        javascript({ typescript: true }),
        keymap.of([indentWithTab, ...defaultKeymap, ...historyKeymap]),
        EditorState.readOnly.of(textarea.readOnly),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) textarea.value = update.state.doc.toString();
        }),
        EditorView.theme({
          "&": { border: "1px solid var(--border-color, #ccc)", width: "100%", maxWidth: "60rem", fontSize: "13px" },
          ".cm-content, .cm-gutter": { minHeight: "12rem" },
        }),
      ],
    }),
  });
  textarea.style.display = "none";
  textarea.insertAdjacentElement("afterend", view.dom);
  view.dom.classList.add("parley-code-editor");
  textarea.parleyEditor = view;
}

document.querySelectorAll("textarea.parley-code").forEach(upgrade);
