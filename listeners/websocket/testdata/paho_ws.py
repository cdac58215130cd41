"""Debian's python3-paho-mqtt over WebSocket, driven by websocket's tests.

usage: paho_ws.py HOST PORT PATH VERSION(4|5)

Connects with transport="websockets", subscribes to py/in at QoS 1, prints
"subscribed", answers the first message on py/in with "echo:" + payload on
py/out at QoS 1, disconnects and exits 0; exits 1 on any failure or after
20 seconds.
"""
import sys
import threading

import paho.mqtt.client as mqtt

host, port, path, version = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
protocol = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311
done = threading.Event()
failed = []

client = mqtt.Client(client_id="py-ws-" + version, protocol=protocol, transport="websockets")
client.ws_set_options(path=path)


def on_connect(c, userdata, flags, rc, properties=None):
    if rc != 0:
        failed.append("CONNACK %s" % rc)
        done.set()
        return
    c.subscribe("py/in", qos=1)


def on_subscribe(c, userdata, mid, granted, properties=None):
    print("subscribed", flush=True)


def on_message(c, userdata, msg):
    info = c.publish("py/out", b"echo:" + msg.payload, qos=1)
    threading.Thread(target=lambda: (info.wait_for_publish(10), done.set()), daemon=True).start()


client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.connect(host, port, keepalive=30)
client.loop_start()
ok = done.wait(20)
client.disconnect()
client.loop_stop()
if failed or not ok:
    print("failed:", failed or "timeout", file=sys.stderr, flush=True)
    sys.exit(1)
