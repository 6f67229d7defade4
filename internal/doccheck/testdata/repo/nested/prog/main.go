package main

func NotChecked() {}
