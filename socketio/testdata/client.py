# A python-socketio client for the package's tests: it connects to the
# namespace, emits the events given as JSON on the command line, and
# prints every event it receives as one JSON line, until the server
# disconnects it or it has received the number of events asked for.
import json
import sys
import threading

import socketio

url, transports, namespace, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
emits = json.loads(sys.argv[5]) if len(sys.argv) > 5 else []
done = threading.Event()
lock = threading.Lock()
got = []


def say(obj):
    with lock:
        print(json.dumps(obj), flush=True)


sio = socketio.Client(reconnection=False)


class NS(socketio.ClientNamespace):
    def on_connect(self):
        say({"connected": sio.transport()})
        for name, data in emits:
            self.emit(name, data)

    def on_disconnect(self):
        say({"disconnected": True})
        done.set()

    def on_connect_error(self, data):
        say({"connect_error": data})
        done.set()

    def trigger_event(self, event, *args):
        if event in ("connect", "disconnect", "connect_error"):
            return super().trigger_event(event, *args)
        with lock:
            got.append(event)
            n = len(got)
        say({"event": event, "args": list(args)})
        if n >= want:
            done.set()


sio.register_namespace(NS(namespace))
try:
    kw = {} if transports == "default" else {"transports": transports.split(",")}
    sio.connect(url, namespaces=[namespace], wait_timeout=5, **kw)
except Exception as e:
    say({"error": str(e)})
    sys.exit(2)
done.wait(20)
say({"transport": sio.transport()})
sio.disconnect()
