/**
 * Imported first by every command (and the benches): the AWS SDK's NodeVersionSupportWarning
 * ("versions published after the first week of January 2027 will require node >=22", nine lines
 * on stderr) never reaches the operator. @aws-sdk/core reads this variable when a client is
 * created (emitWarningIfUnsupportedVersion, from each client's runtime config), not at import:
 * setting it here, before any client exists, is enough, and child processes inherit it. The
 * lockfile pins today's SDK releases and the deployed runtime is nodejs24.x: not actionable here.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export {};
