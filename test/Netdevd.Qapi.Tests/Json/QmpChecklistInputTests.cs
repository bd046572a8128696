using Netdevd.Qapi.Objects;

namespace Netdevd.Qapi.Tests.Json;

/// <summary>
/// Inputs of the facts sheet's section 14 checklist: the streamer parses them all; judging
/// them (not an object, bad member types) is the QMP layer's job.
/// </summary>
public sealed class QmpChecklistInputTests
{
    [Theory]
    [InlineData("[]\n", "[]")]
    [InlineData("1\n", "1")]
    [InlineData("{\"id\": 5}", "{\"id\": 5}")]
    [InlineData("{\"execute\": \"x\", \"foo\": 1}", "{\"execute\": \"x\", \"foo\": 1}")]
    [InlineData("{\"execute\": 1}", "{\"execute\": 1}")]
    [InlineData("{\"execute\": \"query-version\", \"arguments\": []}", "{\"execute\": \"query-version\", \"arguments\": []}")]
    [InlineData("{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"foo\"]}}", "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"foo\"]}}")]
    [InlineData("{\"execute\": \"netdev_add\", \"arguments\": {\"id\": \"n\", \"type\": \"foo\"}, \"id\": {\"any\": [null]}}", "{\"execute\": \"netdev_add\", \"arguments\": {\"id\": \"n\", \"type\": \"foo\"}, \"id\": {\"any\": [null]}}")]
    public void Parses(string input, string expected)
    {
        Assert.Equal([expected], StreamerHarness.Run(input));
    }

    [Fact]
    public void Id_is_kept_exactly_as_sent()
    {
        var results = new List<QObject>();
        var streamer = new Netdevd.Qapi.Json.QmpJsonStreamer(r => results.Add(r.Value!));
        streamer.Feed("{\"execute\": \"x\", \"id\": 1.5e300}\n{\"execute\": \"x\", \"id\": 18446744073709551615}\n"u8);
        Assert.Equal("{\"execute\": \"x\", \"id\": 1.5000000000000001e+300}", results[0].ToString());
        Assert.Equal("{\"execute\": \"x\", \"id\": 18446744073709551615}", results[1].ToString());
    }
}
