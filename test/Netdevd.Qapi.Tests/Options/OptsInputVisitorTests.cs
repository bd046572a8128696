using Netdevd.Qapi.Errors;
using Netdevd.Qapi.Options;
using Netdevd.Qapi.Tests.Visitors;
using Netdevd.Qapi.Visitors;

namespace Netdevd.Qapi.Tests.Options;

public sealed class OptsInputVisitorTests
{
    private static OptsInputVisitor Visitor(string spec) => new(QemuOptsParser.Parse(spec, "type"));

    private static OptsInputVisitor Started(string spec)
    {
        var v = Visitor(spec);
        v.StartStruct(null);
        return v;
    }

    [Theory]
    [InlineData("x,id=a", "Invalid parameter 'type'")]
    [InlineData("type=x,id=a,port=22,flag=on,hostfwd=f1,hostfwd=f2", "Invalid parameter 'type'")]
    public void Leftovers_are_invalid_parameters(string spec, string message)
    {
        var e = Assert.Throws<QapiException>(() => SampleType.Visit(Visitor(spec)));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Visits_scalars_lists_and_the_id()
    {
        var v = Started("user,id=a,port=21,port=22,flag=on,hostfwd=f1,hostfwd=f2");
        Assert.Equal("user", v.TypeStr("type"));
        Assert.Equal("a", v.TypeStr("id"));
        Assert.Equal(22, QapiVisit.UInt16(v, "port"));
        Assert.True(v.TypeBool("flag"));
        Assert.Equal(["f1", "f2"], StringStructList(v, "hostfwd"));
        v.CheckStruct();
        v.EndStruct();
    }

    [Fact]
    public void Nested_structs_read_the_same_options()
    {
        var v = Started("user,id=a,host=h");
        v.StartStruct("addr");
        Assert.Equal("h", v.TypeStr("host"));
        v.CheckStruct();
        v.EndStruct();
        Assert.Equal("Invalid parameter 'type'", Assert.Throws<QapiException>(v.CheckStruct).Message);
    }

    [Fact]
    public void Unknown_key_is_an_invalid_parameter()
    {
        var v = Started("user,id=u,foo=1");
        v.TypeStr("type");
        v.TypeStr("id");
        Assert.Equal("Invalid parameter 'foo'", Assert.Throws<QapiException>(v.CheckStruct).Message);
    }

    [Fact]
    public void Missing_id()
    {
        var v = Started("user");
        Assert.Equal("Parameter 'id' is missing", Assert.Throws<QapiException>(() => v.TypeStr("id")).Message);
        Assert.False(v.OptionalPresent("id"));
        Assert.True(v.OptionalPresent("type"));
    }

    [Theory]
    [InlineData("x=abc", "Parameter 'x' expects an int64 value")]
    [InlineData("x=1.5", "Parameter 'x' expects an int64 value")]
    [InlineData("x=", "Parameter 'x' expects an int64 value")]
    [InlineData("x=9223372036854775808", "Parameter 'x' expects an int64 value")]
    [InlineData("x=1-2", "Parameter 'x' expects an int64 value")]
    public void Int64_errors(string spec, string message)
    {
        Assert.Equal(message, Assert.Throws<QapiException>(() => Started("user," + spec).TypeInt64("x")).Message);
    }

    [Theory]
    [InlineData("x=0x10", 16L)]
    [InlineData("x=-7", -7L)]
    [InlineData("x=010", 8L)]
    [InlineData("x= 5", 5L)]
    public void Int64_values(string spec, long expected) => Assert.Equal(expected, Started("user," + spec).TypeInt64("x"));

    [Fact]
    public void Sized_int_range_errors_name_the_member()
    {
        Assert.Equal("Parameter 'hubid' expects int32_t", Assert.Throws<QapiException>(() => QapiVisit.Int32(Started("hubport,hubid=4294967296"), "hubid")).Message);
    }

    [Fact]
    public void Unsigned_size_bool_enum()
    {
        Assert.Equal("Parameter 'x' expects a uint64 value", Assert.Throws<QapiException>(() => Started("user,x=-1").TypeUInt64("x")).Message);
        Assert.Equal(18446744073709551615UL, Started("user,x=18446744073709551615").TypeUInt64("x"));
        Assert.Equal(1024UL, Started("user,x=1k").TypeSize("x"));
        Assert.Equal("Parameter 'x' expects a size value", Assert.Throws<QapiException>(() => Started("user,x=k").TypeSize("x")).Message);
        Assert.False(Started("user,x=off").TypeBool("x"));
        Assert.True(Started("user,x=yes").TypeBool("x"));
        Assert.Equal("Parameter 'x' expects 'on' or 'off'", Assert.Throws<QapiException>(() => Started("user,x=maybe").TypeBool("x")).Message);
        Assert.Equal("Parameter 'type' does not accept value 'nosuch'", Assert.Throws<QapiException>(() => QapiVisit.Enum(Started("nosuch"), "type", SampleType.AddressTypes)).Message);
    }

    [Fact]
    public void Integer_lists_accept_ranges()
    {
        var v = Started("user,x=1-3,x=7,x=10-10");
        Assert.Equal([1L, 2, 3, 7, 10], Int64List(v, "x"));
        v = Started("user,x=5-6");
        Assert.Equal([5UL, 6], UInt64List(v, "x"));
    }

    [Theory]
    [InlineData("x=3-1", "Parameter 'x' expects an int64 value or range")]
    [InlineData("x=1-65537", "Parameter 'x' expects an int64 value or range")]
    [InlineData("x=1-", "Parameter 'x' expects an int64 value or range")]
    [InlineData("x=a", "Parameter 'x' expects an int64 value or range")]
    public void Bad_ranges(string spec, string message)
    {
        Assert.Equal(message, Assert.Throws<QapiException>(() => Int64List(Started("user," + spec), "x")).Message);
    }

    [Fact]
    public void Range_length_limit_is_65536_elements()
    {
        Assert.Equal(65536, Int64List(Started("user,x=0-65535"), "x").Count);
        Assert.Equal("Parameter 'x' expects a uint64 value or range", Assert.Throws<QapiException>(() => UInt64List(Started("user,x=0-65536"), "x")).Message);
    }

    [Fact]
    public void List_consumes_all_occurrences()
    {
        var v = Started("user,id=u,hostfwd=a");
        v.TypeStr("type");
        v.TypeStr("id");
        Assert.Equal(["a"], StringStructList(v, "hostfwd"));
        v.CheckStruct();
    }

    private static List<string> StringStructList(OptsInputVisitor v, string name)
    {
        var items = new List<string>();
        if (v.StartList(name))
        {
            while (v.NextListElement())
            {
                v.StartStruct(null);
                items.Add(v.TypeStr("str"));
                v.CheckStruct();
                v.EndStruct();
            }

            v.EndList();
        }

        return items;
    }

    private static List<long> Int64List(OptsInputVisitor v, string name)
    {
        var items = new List<long>();
        v.StartList(name);
        while (v.NextListElement())
        {
            items.Add(v.TypeInt64(null));
        }

        v.EndList();
        return items;
    }

    private static List<ulong> UInt64List(OptsInputVisitor v, string name)
    {
        var items = new List<ulong>();
        v.StartList(name);
        while (v.NextListElement())
        {
            items.Add(v.TypeUInt64(null));
        }

        v.EndList();
        return items;
    }
}
