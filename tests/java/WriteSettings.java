// Writes WeChat's two settings files the way the app does: a HashMap
// serialized with java.io.ObjectOutputStream. Used by
// tests/tests/wechat_phone.rs to check that the fixture generator's own
// serialization is byte-identical to Java's, and that chatferry reads
// what Java wrote.
//
//   java WriteSettings.java OUT_DIR DEVICE_ID UIN
//
// OUT_DIR/CompatibleInfo.cfg: {258: DEVICE_ID (String)}
// OUT_DIR/systemInfo.cfg:     {1: UIN (Integer)}
import java.io.FileOutputStream;
import java.io.ObjectOutputStream;
import java.util.HashMap;

public class WriteSettings {
    public static void main(String[] args) throws Exception {
        HashMap<Integer, Object> compatible = new HashMap<>();
        compatible.put(258, args[1]);
        write(args[0] + "/CompatibleInfo.cfg", compatible);
        HashMap<Integer, Object> system = new HashMap<>();
        system.put(1, Integer.parseInt(args[2]));
        write(args[0] + "/systemInfo.cfg", system);
    }

    static void write(String path, HashMap<Integer, Object> map) throws Exception {
        try (ObjectOutputStream out = new ObjectOutputStream(new FileOutputStream(path))) {
            out.writeObject(map);
        }
    }
}
