// Fails at import, as a function whose dependency was never installed: Lambda fails its invocations
// with Runtime.ImportModuleError; every other function keeps serving.
const pad = require("left-pad-was-never-installed");

exports.handler = async () => pad("x", 3);
