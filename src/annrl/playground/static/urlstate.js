// The whole setup in the URL (after #), so that a link reproduces it: field=value pairs,
// lists comma-separated. The server checks every value (a bad one falls back to its default, with a
// notice); the page only parses the text.

const LISTS = new Set(["layers", "features"]);
const TEXTS = new Set(["dataset", "expression", "function", "activation", "optimizer", "regularization"]);

export function encode(setup, view) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(setup)) {
    if (key === "seeds") continue;  // the view decides the population
    params.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  if (view && view !== "network") params.set("view", view);
  return "#" + params.toString();
}

// Returns {setup, view}: only the fields present in the hash, numbers as numbers.
export function decode(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const setup = {};
  let view = "network";
  for (const [key, text] of params) {
    if (key === "view") view = text;
    else if (LISTS.has(key)) {
      const items = text === "" ? [] : text.split(",");
      setup[key] = key === "layers" ? items.map(number) : items;
    } else if (TEXTS.has(key)) setup[key] = text;
    else setup[key] = number(text);
  }
  return { setup, view };
}

// A number, or the text itself when it is none (the server then names the field and the text as typed)
function number(text) {
  const value = Number(text);
  return text.trim() !== "" && Number.isFinite(value) ? value : text;
}
