// The Forgather extension: starts the fgc language server (`fgc lsp`, over stdio) for `.fg`
// files. Plain JavaScript so that it runs without a build step.
//
// What the server receives (docs/editors.md, "The server's side"):
//   initializationOptions  { import: "on" | "cached-only" | "off", includePaths: [absolute dirs] }
//   workspace/configuration and workspace/didChangeConfiguration for the section "fgc"
// A change of fgc.path, fgc.lsp.import or fgc.includePaths restarts the server, so that a
// server needs to read its options only once, at initialize.
"use strict";

const path = require("path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

const RESTART_SETTINGS = ["fgc.path", "fgc.lsp.import", "fgc.includePaths"];
const IMPORT_MODES = ["on", "cached-only", "off"];

let client = null;
let output = null;
let watcher = null;

// The import mode to send: in an untrusted workspace never more than "cached-only", because
// importing a module runs its top-level code (issue 11, "Trust").
function importMode(configured, trusted) {
  const mode = IMPORT_MODES.includes(configured) ? configured : "on";
  return !trusted && mode === "on" ? "cached-only" : mode;
}

// fgc.includePaths, with relative entries (and a leading `~`) made absolute: relative to the
// first workspace folder, else kept as they are for the server to resolve.
function includePaths(configured, folder, home) {
  return (Array.isArray(configured) ? configured : [])
    .filter((p) => typeof p === "string" && p.trim() !== "")
    .map((p) => {
      if (p === "~" || p.startsWith("~/")) return path.join(home, p.slice(1));
      if (path.isAbsolute(p) || !folder) return p;
      return path.resolve(folder, p);
    });
}

// Everything the client needs, from the settings; pure, so it is tested without VS Code.
function clientSettings(config, env) {
  const command = (config.get("path") || "fgc").trim() || "fgc";
  const options = {
    import: importMode(config.get("lsp.import"), env.trusted),
    includePaths: includePaths(config.get("includePaths"), env.folder, env.home),
  };
  const executable = { command, args: ["lsp"], transport: TransportKind.stdio };
  if (env.folder) executable.options = { cwd: env.folder };
  return {
    serverOptions: { run: executable, debug: executable },
    clientOptions: {
      documentSelector: [
        { scheme: "file", language: "forgather" },
        { scheme: "untitled", language: "forgather" },
      ],
      initializationOptions: options,
      synchronize: {
        configurationSection: "fgc",
        // A template may be changed outside the editor (git checkout): the server re-checks
        // the experiments that reach it.
        fileEvents: env.watcher,
      },
      outputChannel: output,
    },
  };
}

function currentEnv() {
  const folders = vscode.workspace.workspaceFolders || [];
  return {
    trusted: vscode.workspace.isTrusted !== false,
    folder: folders.length ? folders[0].uri.fsPath : null,
    home: require("os").homedir(),
    watcher,
  };
}

async function start() {
  const { serverOptions, clientOptions } = clientSettings(
    vscode.workspace.getConfiguration("fgc"),
    currentEnv(),
  );
  client = new LanguageClient("fgc", "Forgather (fgc lsp)", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    const command = serverOptions.run.command;
    const message = `Forgather: could not start \`${command} lsp\` (${err && err.message ? err.message : err}). Set fgc.path to the fgc of your environment, e.g. .venv/bin/fgc.`;
    output.appendLine(message);
    vscode.window.showErrorMessage(message, "Open Settings").then((choice) => {
      if (choice) vscode.commands.executeCommand("workbench.action.openSettings", "fgc.path");
    });
  }
}

async function stop() {
  const old = client;
  client = null;
  if (old) {
    try {
      await old.stop();
    } catch (_) {
      // a server that never started cannot be stopped; nothing to clean up
    }
  }
}

async function restart() {
  await stop();
  await start();
}

async function activate(context) {
  output = vscode.window.createOutputChannel("Forgather");
  watcher = vscode.workspace.createFileSystemWatcher("**/*.{fg,yaml,jinja,py}");
  context.subscriptions.push(
    output,
    watcher,
    vscode.commands.registerCommand("fgc.restartServer", restart),
    vscode.commands.registerCommand("fgc.showOutput", () => output.show(true)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) return restart();
    }),
    // Trust granted: the configured import mode now applies.
    vscode.workspace.onDidGrantWorkspaceTrust(restart),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate, clientSettings, importMode, includePaths };
