"""Authorizers as users write them. Each call is counted in Redis (the tests read the counts)."""

import os

import redis

_redis = redis.Redis.from_url(os.environ["REDIS_URL"])


def _count(name, event):
    _redis.incr(f"authorizers:{name}")
    _redis.set(f"authorizers:{name}:event", __import__("json").dumps(event))


def _policy(effect, resource, principal, context):
    return {"principalId": principal, "context": context,
            "policyDocument": {"Version": "2012-10-17",
                               "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}}


def token(event, context):
    """TOKEN: "allow-ann" allows every method of the stage, "orders-only" one path, "deny" denies."""
    _count("token", event)
    tok = event["authorizationToken"]
    stage_arn = event["methodArn"].split("/", 2)[0] + "/" + event["methodArn"].split("/")[1]
    if tok == "deny":
        return _policy("Deny", event["methodArn"], "mallory", {})
    if tok == "orders-only":
        return _policy("Allow", f"{stage_arn}/GET/orders/1", "olga", {"scope": "orders"})
    if tok.startswith("allow-"):
        return _policy("Allow", f"{stage_arn}/*", tok[6:], {"user": tok[6:], "level": 3, "admin": False})
    if tok == "broken":
        return {"principalId": "x"}  # no policy: API Gateway answers 500
    if tok == "crash":
        raise RuntimeError("the authorizer has a bug")  # any other failure: 500 too
    raise Exception("Unauthorized")


def request(event, context):
    """REQUEST: the X-User header and the tenant query string decide."""
    _count("request", event)
    user = event["headers"].get("X-User") or event["headers"].get("x-user")
    tenant = event["queryStringParameters"]["tenant"]
    effect = "Allow" if user == "ann" and tenant == "acme" else "Deny"
    return _policy(effect, event["methodArn"], user, {"tenant": tenant})


def simple(event, context):
    """HTTP API, payload 2.0, simple responses."""
    _count("simple", event)
    ok = event["headers"].get("authorization") == "letmein"
    return {"isAuthorized": ok, "context": {"user": "ann", "tier": 2}}


def http_policy(event, context):
    """HTTP API, payload 1.0: an IAM policy, as REST authorizers answer."""
    _count("policy", event)
    user = event["headers"].get("x-user") or event["headers"].get("X-User")
    return _policy("Allow" if user == "ann" else "Deny", event["methodArn"], user, {"team": "blue"})
