// A PLC for the tests: a node-opcua server with a few tags, some changing
// on a timer.
//
//   node plc.js PORT [TICK_MS]
//
// Namespace "urn:tern:test-plc" (index 1) holds, under Objects/Line1:
//   ns=1;s=Line1.Temperature  Double, 20 + ticks/10, changes every tick
//   ns=1;s=Line1.Counter      Int32, ticks, changes every tick
//   ns=1;s=Line1.Name         String "press-7", constant
//   ns=1;s=Line1.Setpoint     Double, writable, changes only when written
//   ns=1;s=Bench.Stamp        Double, the wall clock in ms (with
//                             fractions) when set; set on {"cmd":"burst"}
// It prints {"event":"ready"} once listening and {"event":"written",
// "node":...,"value":...} whenever a client writes a tag. On stdin,
// {"cmd":"burst","count":N,"rate":R} sets Bench.Stamp N times at R per
// second (0: as fast as possible) and answers {"id":..,"done":N}.
"use strict";
const os = require("os");
const path = require("path");
const readline = require("readline");
// node-opcua's parts, not the whole package: loading it all takes seconds.
const { OPCUAServer } = require("node-opcua-server");
const { DataType, Variant } = require("node-opcua-variant");
const { StatusCodes } = require("node-opcua-status-code");
const { OPCUACertificateManager } = require("node-opcua-certificate-manager");

const port = parseInt(process.argv[2], 10);
const tickMs = parseInt(process.argv[3] || "50", 10);
const pki = process.env.OPCUA_PKI || path.join(os.tmpdir(), "tern-opcua-pki");

function out(obj) { process.stdout.write(JSON.stringify(obj) + "\n"); }

async function main() {
  const serverCertificateManager = new OPCUACertificateManager({ rootFolder: path.join(pki, "server"), automaticallyAcceptUnknownCertificate: true });
  const server = new OPCUAServer({
    port,
    hostname: "127.0.0.1",
    resourcePath: "/plc",
    buildInfo: { productName: "tern-test-plc" },
    serverCertificateManager,
    allowAnonymous: true,
    userManager: { isValidUser: (user, password) => user === "operator" && password === "s3cret" },
    maxConnectionsPerEndpoint: 50,
    // minSupportedSampleRate 0: exception-based items report every change
    // rather than coalescing changes over a sampling window.
    serverCapabilities: { maxSessions: 50, minSupportedSampleRate: 0 },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace;
  const ns = addressSpace.registerNamespace("urn:tern:test-plc");
  const line = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: "Line1", nodeId: "s=Line1" });

  let ticks = 0;
  let setpoint = 50.0;
  const temperature = ns.addVariable({ componentOf: line, browseName: "Temperature", nodeId: "s=Line1.Temperature", dataType: "Double",
    value: new Variant({ dataType: DataType.Double, value: 20 }) });
  const counter = ns.addVariable({ componentOf: line, browseName: "Counter", nodeId: "s=Line1.Counter", dataType: "Int32",
    value: new Variant({ dataType: DataType.Int32, value: 0 }) });
  ns.addVariable({ componentOf: line, browseName: "Name", nodeId: "s=Line1.Name", dataType: "String",
    value: new Variant({ dataType: DataType.String, value: "press-7" }) });
  ns.addVariable({ componentOf: line, browseName: "Setpoint", nodeId: "s=Line1.Setpoint", dataType: "Double",
    accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite", minimumSamplingInterval: 50,
    value: {
      get: () => new Variant({ dataType: DataType.Double, value: setpoint }),
      set: (v) => {
        setpoint = v.value;
        out({ event: "written", node: "ns=1;s=Line1.Setpoint", value: setpoint });
        return StatusCodes.Good;
      },
    } });
  const bench = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: "Bench", nodeId: "s=Bench" });
  // minimumSamplingInterval 0: every change is reported (exception-based),
  // not sampled.
  const stamp = ns.addVariable({ componentOf: bench, browseName: "Stamp", nodeId: "s=Bench.Stamp", dataType: "Double", minimumSamplingInterval: 0,
    value: new Variant({ dataType: DataType.Double, value: 0 }) });

  setInterval(() => {
    ticks++;
    temperature.setValueFromSource(new Variant({ dataType: DataType.Double, value: 20 + ticks / 10 }));
    counter.setValueFromSource(new Variant({ dataType: DataType.Int32, value: ticks }));
  }, tickMs);

  await server.start();
  out({ event: "ready", endpoint: server.getEndpointUrl() });

  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const req = JSON.parse(line);
    if (req.cmd === "burst") {
      const count = req.count || 1000;
      const gap = req.rate ? 1000 / req.rate : 0;
      const start = performance.now();
      for (let i = 0; i < count; i++) {
        if (gap > 0) {
          const due = start + i * gap;
          while (performance.now() < due) await new Promise((r) => setImmediate(r));
        } else if (i % 100 === 0) {
          await new Promise((r) => setImmediate(r));
        }
        stamp.setValueFromSource(new Variant({ dataType: DataType.Double, value: performance.timeOrigin + performance.now() }));
      }
      out({ id: req.id, done: count, ms: performance.now() - start });
    }
  }
}

main().catch((e) => { out({ event: "fatal", error: String(e && e.stack || e) }); process.exit(1); });
