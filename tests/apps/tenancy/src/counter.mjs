// The Node.js twin of app.py: the tenant as Node's runtime names it (context.tenantId).
export const handler = async (event, context) => ({
  statusCode: 200,
  body: JSON.stringify({ tenantId: context.tenantId ?? null }),
});
