namespace Netdevd.Qapi.Errors;

/// <summary>QEMU's common error texts (qapi/qmp/qerror.h and the input visitors), built in one place.</summary>
public static class QapiErrors
{
    public static QapiException Missing(string path) => new($"Parameter '{path}' is missing");

    public static QapiException Unexpected(string path) => new($"Parameter '{path}' is unexpected");

    public static QapiException InvalidType(string path, string expected) =>
        new($"Invalid parameter type for '{path}', expected: {expected}");

    /// <summary>QERR_INVALID_PARAMETER_VALUE: <c>Parameter '%s' expects %s</c>.</summary>
    public static QapiException InvalidValue(string path, string expects) => new($"Parameter '{path}' expects {expects}");

    public static QapiException BadEnumValue(string path, string value) =>
        new($"Parameter '{path}' does not accept value '{value}'");

    public static QapiException DeviceNotFound(string id) => new(QapiErrorClass.DeviceNotFound, $"Device '{id}' not found");

    public static QapiException Generic(string message) => new(message);
}
