// Tests of extension.js without VS Code: `vscode` and `vscode-languageclient/node` are
// replaced by recording fakes, so what is checked is what the extension asks of them.
// Run: node --test test/client.test.js   (tests/editors/test_vscode_extension.py runs it)
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const Module = require("module");
const path = require("path");

const manifest = require("../package.json");

// -- fakes ------------------------------------------------------------------------------------

function fakeVscode(settings, { trusted = true, folder = "/work/proj" } = {}) {
  const events = { config: [], trust: [] };
  const commands = {};
  const messages = [];
  const vscode = {
    workspace: {
      isTrusted: trusted,
      workspaceFolders: folder ? [{ uri: { fsPath: folder } }] : undefined,
      getConfiguration(section) {
        assert.equal(section, "fgc");
        return { get: (key) => settings[key] };
      },
      createFileSystemWatcher: (glob) => ({ glob, dispose() {} }),
      onDidChangeConfiguration: (f) => (events.config.push(f), { dispose() {} }),
      onDidGrantWorkspaceTrust: (f) => (events.trust.push(f), { dispose() {} }),
    },
    window: {
      createOutputChannel: (name) => ({ name, lines: [], appendLine(l) { this.lines.push(l); }, show() {}, dispose() {} }),
      showErrorMessage: (m) => (messages.push(m), Promise.resolve(undefined)),
    },
    commands: {
      registerCommand: (id, f) => ((commands[id] = f), { dispose() {} }),
      executeCommand: () => Promise.resolve(),
    },
  };
  return { vscode, events, commands, messages };
}

function fakeClientModule({ failStart = false } = {}) {
  const clients = [];
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, started: 0, stopped: 0 });
      clients.push(this);
    }
    async start() {
      this.started++;
      if (failStart) throw new Error("spawn fgc ENOENT");
    }
    async stop() {
      this.stopped++;
    }
  }
  return { module: { LanguageClient, TransportKind: { stdio: 0, ipc: 1 } }, clients };
}

// Loads a fresh extension.js whose requires of the two modules return the fakes.
function loadExtension(fakes) {
  const original = Module._load;
  Module._load = function (request, parent, isMain) {
    if (request === "vscode") return fakes.vscode;
    if (request === "vscode-languageclient/node") return fakes.client;
    return original.call(this, request, parent, isMain);
  };
  try {
    const file = require.resolve("../extension.js");
    delete require.cache[file];
    return require(file);
  } finally {
    Module._load = original;
  }
}

function setup(settings = {}, opts = {}) {
  const v = fakeVscode(settings, opts);
  const c = fakeClientModule(opts);
  const ext = loadExtension({ vscode: v.vscode, client: c.module });
  return { ext, ...v, clients: c.clients, context: { subscriptions: [] } };
}

// -- the manifest and the module agree -------------------------------------------------------

test("main is extension.js and exports activate/deactivate", () => {
  assert.equal(path.resolve(__dirname, "..", manifest.main), require.resolve("../extension.js"));
  const { ext } = setup();
  assert.equal(typeof ext.activate, "function");
  assert.equal(typeof ext.deactivate, "function");
});

test("activate registers exactly the contributed commands", async () => {
  const s = setup();
  await s.ext.activate(s.context);
  const contributed = manifest.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual(Object.keys(s.commands).sort(), contributed);
});

test("every setting the extension reads is contributed", () => {
  const props = Object.keys(manifest.contributes.configuration.properties);
  for (const key of ["fgc.path", "fgc.lsp.import", "fgc.includePaths", "fgc.trace.server"]) {
    assert.ok(props.includes(key), key);
  }
  assert.deepEqual(manifest.contributes.configuration.properties["fgc.lsp.import"].enum, ["on", "cached-only", "off"]);
});

// -- starting the server ---------------------------------------------------------------------

test("starts `fgc lsp` over stdio for forgather documents, by default", async () => {
  const s = setup();
  await s.ext.activate(s.context);
  assert.equal(s.clients.length, 1);
  const [c] = s.clients;
  assert.equal(c.id, "fgc"); // so that `fgc.trace.server` is the client's trace setting
  assert.equal(c.started, 1);
  assert.deepEqual(c.serverOptions.run, { command: "fgc", args: ["lsp"], transport: 0, options: { cwd: "/work/proj" } });
  assert.deepEqual(c.serverOptions.debug, c.serverOptions.run);
  assert.deepEqual(c.clientOptions.documentSelector.map((d) => d.language), ["forgather", "forgather"]);
  assert.deepEqual(c.clientOptions.initializationOptions, { import: "on", includePaths: [] });
  assert.equal(c.clientOptions.synchronize.configurationSection, "fgc");
});

test("fgc.path, fgc.lsp.import and fgc.includePaths reach the server", async () => {
  const s = setup({ path: " /opt/venv/bin/fgc ", "lsp.import": "off", includePaths: ["templates", "/abs", "~/t", ""] });
  await s.ext.activate(s.context);
  const [c] = s.clients;
  assert.equal(c.serverOptions.run.command, "/opt/venv/bin/fgc");
  assert.deepEqual(c.clientOptions.initializationOptions, {
    import: "off",
    includePaths: ["/work/proj/templates", "/abs", path.join(require("os").homedir(), "t")],
  });
});

test("an untrusted folder gets cached-only signatures, never imports", () => {
  const { ext } = setup();
  assert.equal(ext.importMode("on", false), "cached-only");
  assert.equal(ext.importMode("cached-only", false), "cached-only");
  assert.equal(ext.importMode("off", false), "off");
  assert.equal(ext.importMode("on", true), "on");
  assert.equal(ext.importMode("bogus", true), "on");
  assert.equal(ext.importMode(undefined, false), "cached-only");
});

test("untrusted workspace: the client starts with import cached-only, trust restarts it", async () => {
  const s = setup({ "lsp.import": "on" }, { trusted: false });
  await s.ext.activate(s.context);
  assert.equal(s.clients[0].clientOptions.initializationOptions.import, "cached-only");
  s.vscode.workspace.isTrusted = true;
  await s.events.trust[0]();
  assert.equal(s.clients[0].stopped, 1);
  assert.equal(s.clients[1].clientOptions.initializationOptions.import, "on");
});

test("without a workspace folder, relative include paths are left to the server", () => {
  const { ext } = setup();
  assert.deepEqual(ext.includePaths(["a", "/b"], null, "/home/u"), ["a", "/b"]);
  assert.deepEqual(ext.includePaths("not a list", "/w", "/home/u"), []);
});

// -- restarts and failures -------------------------------------------------------------------

test("changing an fgc setting restarts the server; other settings do not", async () => {
  const s = setup();
  await s.ext.activate(s.context);
  const change = (key) => s.events.config[0]({ affectsConfiguration: (k) => k === key });
  await change("editor.fontSize");
  assert.equal(s.clients.length, 1);
  await change("fgc.lsp.import");
  assert.equal(s.clients.length, 2);
  assert.equal(s.clients[0].stopped, 1);
  await s.commands["fgc.restartServer"]();
  assert.equal(s.clients.length, 3);
  await s.ext.deactivate();
  assert.equal(s.clients[2].stopped, 1);
});

test("a server that cannot start is reported with the command and the setting to fix", async () => {
  const s = setup({ path: "nofgc" }, { failStart: true });
  await s.ext.activate(s.context); // does not throw
  assert.equal(s.messages.length, 1);
  assert.match(s.messages[0], /`nofgc lsp`/);
  assert.match(s.messages[0], /fgc\.path/);
});
