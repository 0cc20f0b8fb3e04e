"""localstripe, the Stripe-compatible server of the embedded default, run the safe way.

`python -m billing.stripe_local [--port 8420]` serves localstripe's API and its fake Stripe.js
(`/js.stripe.com/v3/`) on 127.0.0.1 only, with its state in memory: every start is fresh and
nothing is written to /tmp. (localstripe's own command listens on every interface and pickles
its state to /tmp/localstripe.pickle after every change.) `make run` and the tests start it.

localstripe ignores the `Idempotency-Key` header; Stripe does not, and Precis relies on it (a
call that timed out is sent again with the same key and must not create a second object). So
this launcher adds what Stripe documents: the first answer to a POST with a key is kept for
that API key and idempotency key and given again to every repeat; a repeat with different
parameters is refused with an `idempotency_error`.
"""

import argparse
import json
import logging
import sys


def idempotency_middleware():
    from aiohttp import web

    answered: dict[tuple[str, str], tuple[bytes, web.Response]] = {}

    @web.middleware
    async def remember(request, handler):
        if request.method == "DELETE" and request.path == "/_config/data":
            answered.clear()  # the data they answered about is gone too
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        scope = (request.headers.get("Authorization", ""), key)
        body = await request.read()
        if scope in answered:
            first_body, first = answered[scope]
            if first_body != body:
                error = {
                    "type": "idempotency_error",
                    "message": "Keys for idempotent requests can only be used with the same "
                    f"parameters they were first used with. Try using a key other than '{key}'.",
                }
                return web.json_response({"error": error}, status=400)
            return web.Response(
                body=first.body,
                status=first.status,
                content_type=first.content_type,
                headers={"Idempotent-Replayed": "true"},
            )
        response = await handler(request)
        if response.status < 500:  # as Stripe: a server error may be retried for real
            answered[scope] = (body, response)
        return response

    return remember


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m billing.stripe_local")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args(argv)

    from aiohttp import web
    from localstripe import resources, server

    resources.Store.dump_to_disk = lambda self: None  # state lives and dies with the process
    # Outermost, so that it keeps errors too (a declined card is declined again on a repeat,
    # as on Stripe), after localstripe's own middleware turned them into JSON answers.
    server.app.middlewares.insert(0, idempotency_middleware())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    print(json.dumps({"localstripe": f"http://127.0.0.1:{args.port}"}), flush=True)
    web.run_app(server.app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main(sys.argv[1:])
