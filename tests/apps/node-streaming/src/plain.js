// A buffered handler, for comparison.
exports.handler = async (event) => ({ plain: true, got: event });
