// A browsable view of /openapi.json: every operation with its parameters, body and answers.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function schemaText(schema) {
  return JSON.stringify(schema, null, 2);
}

async function main() {
  const doc = await (await fetch("/openapi.json")).json();
  const root = document.getElementById("docs");
  root.replaceChildren(el("p", {}, doc.info.description));
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const section = el("section", { class: "draft", id: op.operationId });
      section.append(el("h3", {}, `${method.toUpperCase()} ${path}`, " — ", op.summary));
      if (op.description) section.append(el("p", {}, op.description));
      if (op.parameters) {
        section.append(el("ul", {}, op.parameters.map((p) =>
          el("li", {}, el("code", {}, p.name), ` (${p.in}${p.required ? ", required" : ""}): `,
            p.schema.description || p.description || p.schema.type || ""))));
      }
      if (op.requestBody) {
        const schema = op.requestBody.content["application/json"].schema;
        section.append(el("div", {}, "Body:"), el("pre", { class: "diff" }, schemaText(schema)));
      }
      section.append(el("ul", {}, Object.entries(op.responses).map(([code, r]) =>
        el("li", {}, el("code", {}, code), " ", r.description))));
      root.append(section);
    }
  }
  const schemas = el("section", { class: "draft" }, el("h3", {}, "Schemas"));
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    schemas.append(el("h4", { id: `schema-${name}` }, name), el("pre", { class: "diff" }, schemaText(schema)));
  }
  root.append(schemas);
}

main().catch((error) => {
  document.getElementById("docs").textContent = `Cannot load the API document: ${error.message}`;
});
