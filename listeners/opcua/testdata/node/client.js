// An OPC UA client (node-opcua) driven by a Go test over stdin/stdout, one
// JSON object a line each way.
//
//   node client.js opc.tcp://127.0.0.1:PORT
//
// Commands: {"cmd":"browse","root":"i=85"} lists every node reachable by
// hierarchical references in namespaces other than 0 (with browse paths);
// {"cmd":"read","node":"ns=1;s=a/b"}; {"cmd":"monitor","node":"..."} sends
// {"event":"change",...} for every data change; {"cmd":"write","node":
// "...","type":"Double","value":1.5}; {"cmd":"quit"}. Each command gets one
// reply {"id":N,...}; errors are {"id":N,"error":"..."}.
"use strict";
const readline = require("readline");
const os = require("os");
const path = require("path");
// node-opcua's parts, not the whole package: loading it all takes seconds.
const {
  OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, DataType,
  TimestampsToReturn, ClientMonitoredItem, BrowseDirection, resolveNodeId, NodeClass,
} = require("node-opcua-client");
const { OPCUACertificateManager } = require("node-opcua-certificate-manager");

const endpoint = process.argv[2];
const pki = process.env.OPCUA_PKI || path.join(os.tmpdir(), "tern-opcua-pki");

function out(obj) { process.stdout.write(JSON.stringify(obj) + "\n"); }

function plain(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return v.toString();
  if (Buffer.isBuffer(v)) return { bytes: v.toString("base64") };
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v, plain);
  return v;
}

function dataValue(dv) {
  return {
    status: dv.statusCode.name,
    type: dv.value ? DataType[dv.value.dataType] : null,
    value: dv.value ? plain(dv.value.value) : null,
    source_timestamp: dv.sourceTimestamp ? dv.sourceTimestamp.toISOString() : null,
  };
}

async function main() {
  const certificateManager = new OPCUACertificateManager({ rootFolder: path.join(pki, "client"), automaticallyAcceptUnknownCertificate: true });
  const client = OPCUAClient.create({
    applicationName: "tern-test-client",
    endpointMustExist: false,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    connectionStrategy: { maxRetry: 0 },
    clientCertificateManager: certificateManager,
    requestedSessionTimeout: 60000,
  });
  await client.connect(endpoint);
  const session = await client.createSession();
  let subscription = null;
  out({ event: "connected" });

  async function browseAll(root) {
    const found = [];
    const seen = new Set();
    const queue = [{ node: root, path: "" }];
    while (queue.length) {
      const { node, path: p } = queue.shift();
      const res = await session.browse({
        nodeId: node, browseDirection: BrowseDirection.Forward,
        referenceTypeId: "HierarchicalReferences", includeSubtypes: true,
        nodeClassMask: 0, resultMask: 63,
      });
      if (res.statusCode.name !== "Good") throw new Error(`browse ${node}: ${res.statusCode.name}`);
      for (const r of res.references || []) {
        const id = r.nodeId.toString();
        if (r.nodeId.namespace === 0 || seen.has(id)) continue;
        seen.add(id);
        const child = p + "/" + r.browseName.name;
        found.push({ node: id, path: child, class: NodeClass[r.nodeClass] });
        queue.push({ node: r.nodeId, path: child });
      }
    }
    return found;
  }

  const rl = readline.createInterface({ input: process.stdin });
  let n = 0;
  for await (const line of rl) {
    if (!line.trim()) continue;
    const req = JSON.parse(line);
    const id = req.id ?? ++n;
    try {
      switch (req.cmd) {
        case "browse": {
          // The root is found by browsing namespace 0's Objects folder.
          out({ id, nodes: await browseAll(resolveNodeId(req.root || "i=85")) });
          break;
        }
        case "namespaces": {
          const dv = await session.read({ nodeId: "i=2255", attributeId: AttributeIds.Value });
          out({ id, namespaces: dv.value.value });
          break;
        }
        case "read": {
          const dv = await session.read({ nodeId: req.node, attributeId: AttributeIds.Value });
          out({ id, ...dataValue(dv) });
          break;
        }
        case "monitor": {
          if (!subscription) {
            subscription = await session.createSubscription2({
              requestedPublishingInterval: req.interval || 20, requestedLifetimeCount: 600,
              requestedMaxKeepAliveCount: 20, maxNotificationsPerPublish: 1000,
              publishingEnabled: true, priority: 1,
            });
          }
          const item = ClientMonitoredItem.create(subscription,
            { nodeId: req.node, attributeId: AttributeIds.Value },
            { samplingInterval: 0, discardOldest: true, queueSize: 10 },
            TimestampsToReturn.Both);
          item.on("changed", (dv) => out({ event: "change", node: req.node, ...dataValue(dv) }));
          await new Promise((resolve, reject) => {
            item.once("initialized", resolve);
            item.once("err", (e) => reject(new Error(String(e))));
          });
          out({ id, ok: true });
          break;
        }
        case "write": {
          const status = await session.write({
            nodeId: req.node, attributeId: AttributeIds.Value,
            value: { value: { dataType: DataType[req.type], value: req.value } },
          });
          out({ id, status: status.name });
          break;
        }
        case "quit": {
          if (subscription) await subscription.terminate();
          await session.close();
          await client.disconnect();
          out({ id, ok: true });
          process.exit(0);
        }
        default:
          out({ id, error: "unknown command " + req.cmd });
      }
    } catch (e) {
      out({ id, error: String(e && e.message || e) });
    }
  }
}

main().catch((e) => { out({ event: "fatal", error: String(e && e.stack || e) }); process.exit(1); });
