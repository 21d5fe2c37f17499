"""The OpenAPI 3 description of every public endpoint (pure data, no I/O).

Served at `/api/services/openapi.json` (and `/spec`, where the reference Provider serves its
swagger document) and rendered at `/api/docs`. A test compares it with the registered routes,
and schemathesis fuzzes the running app against it, so it stays true.

Request data follows the reference rule: query arguments if there are any, else the JSON body.
The GET and DELETE endpoints are described with query parameters, the POST ones with JSON
bodies, as the real clients send them.
"""
from __future__ import annotations

from typing import Any

ADDRESS = {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$", "example": "0x" + "ab" * 20}
DID = {"type": "string", "pattern": "^did:ope?:[0-9a-fA-F]{64}$", "example": "did:op:" + "0" * 64}
HEX = {"type": "string", "pattern": "^0x[0-9a-fA-F]*$"}
NONCE = {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 10**78 - 1},
                   {"type": "string", "pattern": "^[0-9]{1,78}(\\.[0-9]{1,18})?$"}],
         "description": "Strictly greater than the last nonce used by this address; decimal digits only "
                        "(a counter, a millisecond timestamp, or one with up to 18 fractional digits)."}
SIGNATURE = dict(HEX, description="EIP-191 signature of keccak256(message + nonce); see the endpoint for the message.")

# Statuses every endpoint may answer besides its own: limits.
COMMON = {
    "413": {"$ref": "#/components/responses/TooLarge"},
    "429": {"$ref": "#/components/responses/RateLimited"},
}


def _query(name: str, schema: dict, required: bool = False, description: str = "") -> dict:
    param = {"name": name, "in": "query", "required": required, "schema": schema}
    if description:
        param["description"] = description
    return param


def _json_body(properties: dict, required: list[str], description: str = "") -> dict:
    body = {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "properties": properties, "required": required}}}}
    if description:
        body["description"] = description
    return body


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(summary: str, op_id: str, tag: str, responses: dict, *, params=None, body=None,
               security: bool = False, description: str = "") -> dict:
    operation: dict[str, Any] = {"summary": summary, "operationId": op_id, "tags": [tag],
                                 "responses": {**responses, **COMMON}}
    if description:
        operation["description"] = description
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = body
    if security:
        operation["security"] = [{}, {"AuthToken": []}]
    return operation


BAD = {"400": {"$ref": "#/components/responses/InvalidRequest"}}
NOT_FOUND = {"404": {"$ref": "#/components/responses/NotFound"}}
FORBIDDEN = {"403": {"$ref": "#/components/responses/NotAuthorized"}}
UNAVAILABLE = {"503": {"$ref": "#/components/responses/DependencyUnavailable"}}

INPUT_ITEM = {"type": "object", "properties": {
    "documentId": DID, "serviceId": {"type": "string"}, "transferTxId": HEX,
    "userdata": {"oneOf": [{"type": "object"}, {"type": "string"}]}}, "required": ["documentId", "serviceId"]}
ALGORITHM = {"type": "object", "description": "A published algorithm (documentId, serviceId) or a raw one (meta).",
             "properties": {
                 "documentId": DID, "serviceId": {"type": "string"}, "transferTxId": HEX,
                 "algocustomdata": {"type": "object"}, "userdata": {"type": "object"},
                 "meta": {"type": "object", "properties": {
                     "rawcode": {"type": "string"}, "url": {"type": "string"},
                     "container": _ref("Container")}}}}


RESOURCE_REQUEST = {"type": "array", "maxItems": 32, "items": {"type": "object", "properties": {
    "id": {"type": "string"}, "amount": {"type": "number", "minimum": 0}}, "required": ["id"]}}
NODE_START = {
    "consumerAddress": ADDRESS, "nonce": NONCE, "signature": SIGNATURE,
    "environment": {"type": "string"}, "datasets": {"type": "array", "items": INPUT_ITEM, "minItems": 1},
    "dataset": INPUT_ITEM, "algorithm": ALGORITHM, "resources": RESOURCE_REQUEST,
    "maxJobDuration": {"type": "integer", "minimum": 0, "description": "Seconds; above the environment's maximum "
                                                                        "(or absent) means its maximum"},
    "queueMaxWaitTime": {"type": "integer", "minimum": 0},
    "payment": {"type": "object", "properties": {"chainId": {"type": "integer"}, "token": ADDRESS,
                                                 "resources": RESOURCE_REQUEST}, "required": ["chainId", "token"]},
    "metadata": {"type": "object", "description": "At most 1 KiB of JSON, kept with the job"},
    "additionalViewers": {"type": "array", "items": ADDRESS, "maxItems": 20,
                          "description": "Addresses that may read the job's status, logs and results"},
}


def document(version: str) -> dict[str, Any]:
    job_query = [
        _query("consumerAddress", ADDRESS, True), _query("jobId", {"type": "string"}),
        _query("documentId", DID), _query("nonce", NONCE), _query("signature", SIGNATURE),
    ]
    paths = {
        "/": {"get": _operation("Provider information and endpoint directory", "root", "provider",
                                {"200": _json(_ref("RootInfo"), "Addresses, chains and serviceEndpoints")})},
        "/health": {"get": _operation("Liveness probe", "health", "operations",
                                      {"200": _json({"type": "object", "properties": {"status": {"const": "ok"}},
                                                     "required": ["status"]}, "The process answers")})},
        "/ready": {"get": _operation("Readiness probe: chains, store and compute engine", "ready", "operations", {
            "200": _json(_ref("Readiness"), "Ready"), "503": _json(_ref("Readiness"), "A check failed")})},
        "/metrics": {"get": _operation("Prometheus metrics", "metrics", "operations", {
            "200": {"description": "Prometheus text exposition format",
                    "content": {"text/plain": {"schema": {"type": "string"}}}}})},
        "/spec": {"get": _operation("This document (the reference Provider's path)", "spec", "operations",
                                    {"200": _json({"type": "object"}, "OpenAPI 3 document")})},
        "/api/docs": {"get": _operation("This document as a web page", "docs", "operations", {
            "200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}})},
        "/console": {"get": _operation(
            "The operator console (HTML)", "console", "operations", {
                "200": {"description": "The console page", "content": {"text/html": {"schema": {"type": "string"}}}},
                "303": {"description": "Token or admin signature accepted: a session cookie, on to /console"},
                "401": {"description": "The sign-in page", "content": {"text/html": {"schema": {"type": "string"}}}},
                **BAD, **NOT_FOUND},
            params=[_query("token", {"type": "string"}, description="CONSOLE_TOKEN (becomes a session cookie)"),
                    _query("address", ADDRESS, description="an admin address (with nonce and signature)"),
                    _query("nonce", {"type": "string"}), _query("signature", {"type": "string"})],
            description="Environments, queue, recent jobs, index lag, health, recent refusals. Off in production "
                        "unless CONSOLE_TOKEN or CONSOLE_ADMIN_ADDRESSES is configured.")},
        "/api/services/openapi.json": {"get": _operation("This document", "openapi", "operations",
                                                         {"200": _json({"type": "object"}, "OpenAPI 3 document")})},
        "/api/services/nonce": {"get": _operation(
            "Last nonce used by an address", "nonce", "auth",
            {"200": _json({"type": "object", "properties": {"nonce": {"type": ["integer", "number", "string"]}},
                           "required": ["nonce"]}, "The nonce (0 for a new address)"), **BAD},
            params=[_query("userAddress", ADDRESS, True)])},
        "/api/services/createAuthToken": {"get": _operation(
            "Create an auth token (JWT) usable instead of signatures", "createAuthToken", "auth",
            {"200": _json({"type": "object", "properties": {"token": {"type": "string"}}, "required": ["token"]},
                          "The token"), **BAD, **UNAVAILABLE},
            params=[_query("address", ADDRESS, True), _query("expiration", {"type": "integer"}, True,
                                                             "Unix time the token expires at"),
                    _query("nonce", NONCE, True), _query("signature", SIGNATURE, True, "Message: address")])},
        "/api/services/deleteAuthToken": {"delete": _operation(
            "Revoke an auth token", "deleteAuthToken", "auth",
            {"200": _json({"type": "object", "properties": {"success": {"type": "string"}}, "required": ["success"]},
                          "Revoked"), **BAD, **UNAVAILABLE},
            params=[_query("address", ADDRESS, True), _query("token", {"type": "string"}, True),
                    _query("nonce", NONCE, True), _query("signature", SIGNATURE, True, "Message: address")])},
        "/api/services/auth/token": {"post": _operation(
            "Create an auth token (Ocean Node form, ocean.js 8)", "generateAuthToken", "auth",
            {"200": _json({"type": "object", "properties": {"token": {"type": "string"}}, "required": ["token"]},
                          "A JWT carrying `address`; send it as `Authorization: <jwt>`"), **BAD, **UNAVAILABLE},
            body=_json_body({"address": ADDRESS, "nonce": NONCE,
                             "signature": dict(SIGNATURE, description="Message: address + nonce + \"createAuthToken\""),
                             "validUntil": {"type": "integer"}}, ["address", "nonce", "signature"]))},
        "/api/services/auth/token/invalidate": {"post": _operation(
            "Revoke an auth token (Ocean Node form, ocean.js 8)", "invalidateAuthToken", "auth",
            {"200": _json({"type": "object", "properties": {"success": {"type": "boolean"}}, "required": ["success"]},
                          "Revoked (in both forms)"), **BAD, **UNAVAILABLE},
            body=_json_body({"address": ADDRESS, "token": {"type": "string"}, "nonce": NONCE,
                             "signature": dict(SIGNATURE, description="Message: address + nonce")},
                            ["address", "token", "nonce", "signature"]))},
        "/api/services/freeCompute": {"post": _operation(
            "Start a free job (ocean.js 8): the environment's free tier, no escrow", "freeCompute", "compute",
            {"200": _json({"type": "array", "items": _ref("JobStatus")}, "The new job"), **BAD, **FORBIDDEN,
             **UNAVAILABLE},
            body=_json_body(NODE_START | {"signature": dict(SIGNATURE, description=(
                "Message: consumerAddress + nonce + \"freeStartCompute\""))},
                ["consumerAddress", "environment", "datasets", "algorithm"]),
            security=True,
            description="Each dataset (and a published algorithm) still needs its order's transferTxId unless the "
                        "operator set COMPUTE_FREE_REQUIRES_ORDER=false.")},
        "/api/services/auditTrail": {"get": _operation(
            "The audit trail of one of the publisher's assets", "auditTrail", "audit",
            {"200": _json({"type": "object", "properties": {"did": DID, "entries": {"type": "array", "items": {
                "type": "object", "properties": {"seq": {"type": "integer"}, "at": {"type": "number"},
                                                 "action": {"type": "string"}, "outcome": {"type": "string"},
                                                 "hash": {"type": "string"}, "prev": {"type": "string"}}}}},
                           "required": ["did", "entries"]}, "Entries in order, hash-chained"),
             **BAD, **FORBIDDEN, **NOT_FOUND, **UNAVAILABLE},
            params=[_query("did", DID, True), _query("address", ADDRESS, True, "The publisher (the asset's NFT owner)"),
                    _query("nonce", NONCE), _query("signature", SIGNATURE, description="Message: address + did"),
                    _query("since", {"type": "integer", "minimum": 0}, description="Unix time"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000})],
            security=True)},
        "/api/services/heldResults": {"get": _operation(
            "Jobs on one of the publisher's datasets whose outputs wait for its review", "heldResults", "review",
            {"200": _json({"type": "array", "items": {"type": "object"}}, "Held jobs and their results"),
             **BAD, **FORBIDDEN, **NOT_FOUND, **UNAVAILABLE},
            params=[_query("did", DID, True), _query("address", ADDRESS, True, "The dataset's publisher"),
                    _query("nonce", NONCE), _query("signature", SIGNATURE, description="Message: address + did")],
            security=True)},
        "/api/services/heldResult": {"get": _operation(
            "One result of a held job, for the publisher to review", "heldResult", "review",
            {"200": {"description": "The result's bytes", "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}, **BAD, **FORBIDDEN, **NOT_FOUND, **UNAVAILABLE},
            params=[_query("address", ADDRESS, True), _query("jobId", {"type": "string"}, True),
                    _query("index", {"type": "integer", "minimum": 0}, True), _query("nonce", NONCE),
                    _query("signature", SIGNATURE, description="Message: address + jobId + index")],
            security=True)},
        "/api/services/reviewResults": {"post": _operation(
            "Release or reject a held job's outputs", "reviewResults", "review",
            {"200": _json({"type": "object"}, "The job after the decision"), **BAD, **FORBIDDEN, **NOT_FOUND,
             **UNAVAILABLE},
            body=_json_body({"address": ADDRESS, "jobId": {"type": "string"},
                             "decision": {"type": "string", "enum": ["release", "reject"]},
                             "reason": {"type": "string", "maxLength": 500}, "nonce": NONCE,
                             "signature": dict(SIGNATURE, description="Message: address + jobId + decision")},
                            ["address", "jobId", "decision"]),
            security=True)},
        "/api/services/computeEnvironments/node": {"get": _operation(
            "Compute environments, Ocean Node form (ocean.js 8 is pointed here by the root it reads)",
            "nodeComputeEnvironments", "compute",
            {"200": _json({"type": "array", "items": _ref("NodeEnvironment")}, "A flat list"), **BAD},
            params=[_query("chainId", {"type": "integer"})])},
        "/directCommand": {"post": _operation(
            "Ocean Node command: `status` (node identity, chains, indexer progress)", "directCommand", "node",
            {"200": _json({"type": "object", "properties": {"id": {"type": ["string", "null"]},
                                                           "address": {"type": ["string", "null"]},
                                                           "version": {"type": "string"},
                                                           "provider": {"type": "array"}},
                           "required": ["id", "address", "version", "provider"]}, "Node status"), **BAD},
            body=_json_body({"command": {"type": "string", "enum": ["status"]}}, ["command"]))},
        "/api/services/encrypt": {"post": _operation(
            "Encrypt a document to the provider's key (ECIES)", "encrypt", "documents",
            {"201": {"description": "0x-hex ciphertext", "content": {"text/plain": {"schema": HEX}}}, **BAD},
            params=[_query("chainId", {"type": "integer"}, True),
                    _query("consumerAddress", ADDRESS, False, "ocean.js 8: the signer"),
                    _query("nonce", NONCE, False),
                    _query("signature", SIGNATURE, False, "ocean.js 8, message: consumerAddress + nonce + "
                                                          "\"encrypt\"")],
            body={"required": True, "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}})},
        "/api/services/decrypt": {"post": _operation(
            "Decrypt a published DDO (for metadata caches)", "decrypt", "documents",
            {"201": {"description": "The plaintext document", "content": {"text/plain": {"schema": {"type": "string"}}}},
             **BAD, **FORBIDDEN, **UNAVAILABLE},
            body=_json_body({
                "decrypterAddress": ADDRESS, "chainId": {"type": "integer"}, "dataNftAddress": ADDRESS,
                "nonce": NONCE, "signature": dict(SIGNATURE, description="Message: transactionId or encryptedDocument, "
                                                                         "then chainId and nonce"),
                "transactionId": HEX, "encryptedDocument": HEX, "flags": {"type": "integer"},
                "documentHash": HEX}, ["decrypterAddress", "chainId", "dataNftAddress", "nonce"]),
            security=True)},
        "/api/services/fileinfo": {"post": _operation(
            "Check the files of a service, or a raw file object", "fileinfo", "access",
            {"200": _json({"type": "array", "items": _ref("FileInfo")}, "One entry per file"), **BAD,
             **UNAVAILABLE},
            body={"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"type": "object", "properties": {"did": DID, "serviceId": {"type": "string"},
                                                  "checksum": {"type": "boolean"}},
                 "required": ["did", "serviceId"]},
                {"type": "object", "properties": {
                    "type": {"enum": ["url", "ipfs", "arweave", "graphql", "smartcontract"]},
                    "url": {"type": "string"}, "method": {"type": "string"}, "hash": {"type": "string"},
                    "transactionId": {"type": "string"}, "headers": {"type": "object"},
                    "checksum": {"type": "boolean"}}, "required": ["type"]}]}}}})},
        "/api/services/initialize": {"get": _operation(
            "Provider fee for ordering an access service (or the valid order already made)", "initialize",
            "access", {"200": _json(_ref("Initialize"), "Fee to pass to startOrder, or validOrder"), **BAD,
                       **UNAVAILABLE},
            params=[_query("documentId", DID, True), _query("serviceId", {"type": "string"}, True),
                    _query("consumerAddress", ADDRESS, True), _query("fileIndex", {"type": "integer", "minimum": 0}),
                    _query("transferTxId", HEX), _query("userdata", {"type": "string"}, description="JSON object")])},
        "/api/services/download": {"get": _operation(
            "Download a file of an ordered access service", "download", "access",
            {"200": {"description": "The file's bytes", "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}},
             "206": {"description": "The requested range", "content": {"application/octet-stream": {
                 "schema": {"type": "string", "format": "binary"}}}},
             **BAD, **UNAVAILABLE},
            params=[_query("documentId", DID, True), _query("serviceId", {"type": "string"}, True),
                    _query("consumerAddress", ADDRESS, True), _query("transferTxId", HEX, True),
                    _query("fileIndex", {"type": "integer", "minimum": 0}, True), _query("nonce", NONCE, True),
                    _query("signature", SIGNATURE, description="Message: documentId"),
                    _query("userdata", {"type": "string"}, description="JSON object")],
            security=True)},
        "/api/services/initializeCompute": {"post": _operation(
            "Fees for a compute job: one entry per dataset, and the algorithm", "initializeCompute", "compute",
            {"200": _json({"type": "object", "properties": {
                "datasets": {"type": "array", "items": _ref("Initialize")}, "algorithm": _ref("Initialize"),
                "payment": _ref("EscrowPayment")},
                "required": ["datasets"]}, "Fees or valid orders (and, with `payment`, the escrow lock to fund)"),
                **BAD, **FORBIDDEN, **UNAVAILABLE},
            body={"required": True, "content": {"application/json": {"schema": {"oneOf": [
                {"type": "object", "title": "classic (ocean.py, ocean.js 3.3)", "properties": {
                    "datasets": {"type": "array", "items": INPUT_ITEM, "minItems": 1}, "algorithm": ALGORITHM,
                    "compute": {"type": "object", "properties": {"env": {"type": "string"},
                                                                 "validUntil": {"type": "integer"}},
                                "required": ["env", "validUntil"]},
                    "consumerAddress": ADDRESS}, "required": ["datasets", "algorithm", "compute", "consumerAddress"],
                 "not": {"required": ["payment"]}},
                {"type": "object", "title": "resource-priced (ocean.js 8)", "properties": NODE_START,
                 "required": ["datasets", "algorithm", "environment", "consumerAddress", "payment"]}]}}}})},
        "/api/services/compute": {
            "post": _operation(
                "Start a compute job", "computeStart", "compute",
                {"200": _json({"type": "array", "items": _ref("JobStatus")}, "The new job"), **BAD, **FORBIDDEN,
                 **UNAVAILABLE},
                body={"required": True, "content": {"application/json": {"schema": {"oneOf": [
                    {"type": "object", "title": "classic (ocean.py, ocean.js 3.3)", "properties": {
                        "consumerAddress": ADDRESS, "nonce": NONCE,
                        "signature": dict(SIGNATURE, description="Message: consumerAddress + dataset.documentId"),
                        "environment": {"type": "string"}, "dataset": INPUT_ITEM,
                        "additionalDatasets": {"type": "array", "items": INPUT_ITEM}, "algorithm": ALGORITHM,
                        "output": {"type": "object"}},
                     "required": ["consumerAddress", "nonce", "environment", "dataset", "algorithm"],
                     "not": {"required": ["payment"]}},
                    {"type": "object", "title": "resource-priced, paid through Escrow (ocean.js 8)",
                     "properties": NODE_START | {"signature": dict(SIGNATURE, description=(
                         "Message: consumerAddress + nonce + \"startCompute\""))},
                     "required": ["consumerAddress", "environment", "datasets", "algorithm", "payment"]}]}}}},
                security=True),
            "get": _operation(
                "Status of the consumer's jobs (signed or with AuthToken: the full status)", "computeStatus",
                "compute", {"200": _json({"type": "array", "items": _ref("JobStatus")}, "Matching jobs"),
                            **BAD, **NOT_FOUND},
                params=job_query, security=True),
            "put": _operation(
                "Stop a job", "computeStop", "compute",
                {"200": _json({"type": "array", "items": _ref("JobStatus")}, "The job"), **BAD, **NOT_FOUND},
                params=job_query, security=True,
                description="Signed message: consumerAddress + jobId + documentId (empty if absent)."),
            "delete": _operation(
                "Delete a job and its results", "computeDelete", "compute",
                {"200": _json({"type": "object"}, "Deleted"), **BAD, **NOT_FOUND},
                params=job_query, security=True),
        },
        "/api/services/computeResult": {"get": _operation(
            "Download one result file of a job", "computeResult", "compute",
            {"200": {"description": "The result's bytes", "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}, **BAD, **NOT_FOUND},
            params=[_query("consumerAddress", ADDRESS, True), _query("jobId", {"type": "string"}, True),
                    _query("index", {"type": "integer", "minimum": 0}, True), _query("nonce", NONCE, True),
                    _query("signature", SIGNATURE, description="Message: consumerAddress + jobId + index")],
            security=True)},
        "/api/services/computeStreamableLogs": {"get": _operation(
            "The algorithm's output while it runs", "computeStreamableLogs", "compute",
            {"200": {"description": "Log text, streamed until the job ends",
                     "content": {"text/plain": {"schema": {"type": "string"}}}}, **BAD, **NOT_FOUND},
            params=[_query("consumerAddress", ADDRESS, True), _query("jobId", {"type": "string"}, True),
                    _query("nonce", NONCE, True),
                    _query("signature", SIGNATURE, description="Message: consumerAddress + jobId")],
            security=True)},
        "/api/services/computeEnvironments": {"get": _operation(
            "Compute environments per chain", "computeEnvironments", "compute",
            {"200": _json({"type": "object", "additionalProperties": {"type": "array",
                                                                      "items": _ref("Environment")}},
                          "Keyed by chain id"), **BAD},
            params=[_query("chainId", {"type": "integer"})])},
        "/api/services/validateContainer": {"post": _operation(
            "Check a container description", "validateContainer", "compute",
            {"200": _json(_ref("Container"), "Valid: echoed"), **BAD},
            body={"required": True, "content": {"application/json": {"schema": _ref("Container")}}})},
        "/api/aquarius/assets/ddo/{did}": {"get": _operation(
            "The indexed DDO of an asset (Aquarius API)", "aquariusDdo", "aquarius",
            {"200": _json(_ref("DDO"), "The DDO with its nft, event and stats blocks"), **NOT_FOUND},
            params=[{"name": "did", "in": "path", "required": True, "schema": {"type": "string"}}])},
        "/api/aquarius/assets/metadata/{did}": {"get": _operation(
            "The metadata block of an indexed asset (Aquarius API)", "aquariusMetadata", "aquarius",
            {"200": _json({"type": "object"}, "metadata"), **NOT_FOUND},
            params=[{"name": "did", "in": "path", "required": True, "schema": {"type": "string"}}])},
        "/api/aquarius/assets/ddo/validate": {"post": _operation(
            "Validate a DDO and sign its hash (the proof setMetaData checks)", "aquariusValidate", "aquarius",
            {"200": _json({"type": "object", "properties": {
                "hash": HEX, "publicKey": ADDRESS, "v": {"type": "integer"},
                "r": {"type": "array", "items": HEX}, "s": {"type": "array", "items": HEX}},
                "required": ["hash", "publicKey", "v", "r", "s"]}, "Hash and proof"), **BAD},
            body={"required": True, "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}})},
    }
    # Ocean Node's spelling of fileinfo: the same operation
    paths["/api/services/fileInfo"] = {"post": {**paths["/api/services/fileinfo"]["post"], "operationId": "fileInfo"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ocean Provider with Compute-to-Data", "version": version,
                 "description": "Ocean Provider API (reference v2 paths, parameters and replies), the Aquarius "
                                "endpoints its clients use, and operations endpoints."},
        "paths": paths,
        "components": {
            "securitySchemes": {"AuthToken": {"type": "apiKey", "in": "header", "name": "AuthToken",
                                              "description": "A token from createAuthToken, instead of a signature"}},
            "responses": {
                "InvalidRequest": _json(_ref("Error"), "Invalid request, signature, nonce or order"),
                "NotAuthorized": _json(_ref("Error"), "Not allowed"),
                "NotFound": _json(_ref("Error"), "Unknown asset or job"),
                "TooLarge": _json(_ref("Error"), "Request body over the configured limit"),
                "RateLimited": {"description": "A rate limit was reached", "headers": {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}},
                    "content": {"application/json": {"schema": _ref("Error")}}},
                "DependencyUnavailable": _json(_ref("Error"), "A chain node or store did not answer"),
            },
            "schemas": {
                "Error": {"oneOf": [
                    {"type": "object", "properties": {"error": {"type": ["string", "object", "array"]}},
                     "required": ["error"]},
                    {"type": "object", "properties": {"errors": {"type": ["object", "array"]},
                                                      "message": {"type": "string"},
                                                      "success": {"const": False}},
                     "required": ["errors", "message", "success"]}]},
                "RootInfo": {"type": "object", "required": ["software", "version", "providerAddresses", "chainIds",
                                                            "serviceEndpoints"],
                             "properties": {
                                 "software": {"type": "string"}, "version": {"type": "string"},
                                 "providerAddresses": {"type": "object", "additionalProperties": ADDRESS},
                                 "providerAddress": ADDRESS, "chainIds": {"type": "array", "items": {"type": "integer"}},
                                 "serviceEndpoints": {"type": "object", "additionalProperties": {
                                     "type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}}}},
                "Readiness": {"type": "object", "required": ["ready", "checks"], "properties": {
                    "ready": {"type": "boolean"},
                    "checks": {"type": "object", "additionalProperties": {"type": "boolean"}}}},
                "FileInfo": {"type": "object", "required": ["index", "valid", "type"], "properties": {
                    "index": {"type": "integer"}, "valid": {"type": "boolean"}, "type": {"type": "string"},
                    "contentLength": {"type": "string"}, "contentType": {"type": "string"},
                    "filename": {"type": "string"}, "name": {"type": "string"}, "checksum": {"type": "string"},
                    "checksumType": {"type": "string"}}},
                "ProviderFee": {"type": "object", "required": ["providerFeeAddress", "providerFeeToken",
                                                               "providerFeeAmount", "providerData", "v", "r", "s",
                                                               "validUntil"],
                                "properties": {"providerFeeAddress": ADDRESS, "providerFeeToken": ADDRESS,
                                               "providerFeeAmount": {"type": "string"}, "providerData": HEX,
                                               "v": {"type": "integer"}, "r": HEX, "s": HEX,
                                               "validUntil": {"type": "integer"}}},
                "Initialize": {"type": "object", "properties": {
                    "datatoken": ADDRESS, "nonce": {"type": ["integer", "number", "string", "null"]},
                    "providerFee": _ref("ProviderFee"), "validOrder": HEX}},
                "JobStatus": {"type": "object", "required": ["jobId", "status", "statusText"], "properties": {
                    "jobId": {"type": "string"}, "agreementId": {"type": "string"}, "owner": {"type": "string"},
                    "status": {"type": "integer"}, "statusText": {"type": "string"},
                    "dateCreated": {"type": "string"}, "dateFinished": {"type": ["string", "null"]},
                    "results": {"oneOf": [{"type": "array", "items": {"type": "object"}}, {"const": ""}]}}},
                "EscrowPayment": {"type": "object", "properties": {
                    "escrowAddress": ADDRESS, "payee": ADDRESS, "chainId": {"type": "integer"},
                    "minLockSeconds": {"type": "integer"}, "token": ADDRESS,
                    "amount": {"type": "string", "description": "Base units of the token"}},
                    "required": ["escrowAddress", "payee", "chainId", "minLockSeconds", "token", "amount"]},
                "NodeEnvironment": {"type": "object", "required": ["id", "consumerAddress", "fees", "resources",
                                                                   "maxJobDuration"],
                                    "properties": {"id": {"type": "string"}, "consumerAddress": ADDRESS,
                                                   "fees": {"type": "object"}, "resources": {"type": "array"},
                                                   "free": {"type": "object"}, "maxJobDuration": {"type": "integer"},
                                                   "minJobDuration": {"type": "integer"}}},
                "Environment": {"type": "object", "required": ["id", "consumerAddress", "priceMin"], "properties": {
                    "id": {"type": "string"}, "consumerAddress": ADDRESS, "priceMin": {"type": "number"},
                    "cpuNumber": {"type": "number"}, "ramGB": {"type": "number"}, "diskGB": {"type": "number"},
                    "maxJobs": {"type": "integer"}, "currentJobs": {"type": "integer"},
                    "maxJobDuration": {"type": "integer"}, "feeToken": ADDRESS}},
                "Container": {"type": "object", "properties": {
                    "entrypoint": {"type": "string"}, "image": {"type": "string"}, "tag": {"type": "string"},
                    "checksum": {"type": "string"}}},
                "DDO": {"type": "object", "required": ["id", "chainId", "nftAddress", "metadata", "services"],
                        "properties": {"id": {"type": "string"}, "chainId": {"type": "integer"},
                                       "nftAddress": ADDRESS, "metadata": {"type": "object"},
                                       "services": {"type": "array"}, "nft": {"type": "object"},
                                       "event": {"type": "object"}}},
            },
        },
    }
