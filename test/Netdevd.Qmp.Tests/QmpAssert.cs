using Netdevd.Qapi.Json;
using Netdevd.Qapi.Objects;

namespace Netdevd.Qmp.Tests;

internal static class QmpAssert
{
    public static void Error(QDict response, string errorClass, string desc, string? idJson = null)
    {
        var error = Assert.IsType<QDict>(response.Get("error"));
        Assert.Equal(desc, Assert.IsType<QString>(error.Get("desc")).Value);
        Assert.Equal(errorClass, Assert.IsType<QString>(error.Get("class")).Value);
        AssertId(response, idJson);
    }

    public static void GenericError(QDict response, string desc, string? idJson = null) => Error(response, "GenericError", desc, idJson);

    public static QObject Return(QDict response, string? idJson = null)
    {
        Assert.False(response.ContainsKey("error"), response.ToString());
        AssertId(response, idJson);
        return response.Get("return") ?? throw new Xunit.Sdk.XunitException("no return member: " + response);
    }

    public static void EmptyReturn(QDict response, string? idJson = null) =>
        Assert.Equal("{}", QmpJsonFormatter.Format(Return(response, idJson)));

    private static void AssertId(QDict response, string? idJson)
    {
        if (idJson is null)
        {
            Assert.False(response.ContainsKey("id"), "unexpected id in " + response);
        }
        else
        {
            Assert.Equal(idJson, QmpJsonFormatter.Format(response.Get("id") ?? throw new Xunit.Sdk.XunitException("no id in " + response)));
        }
    }
}
