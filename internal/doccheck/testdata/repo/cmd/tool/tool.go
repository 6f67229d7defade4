package tool

func NotChecked() {}
