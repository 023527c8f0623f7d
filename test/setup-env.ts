// The SDK warns once per process that releases after January 2027 need Node >= 22. The lockfile
// pins today's releases and the deployed runtime is nodejs24.x; the warning is noise in tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
