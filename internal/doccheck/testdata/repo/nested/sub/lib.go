package sub

func Checked() {}
